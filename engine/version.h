#ifndef BATOU_VERSION_H
#define BATOU_VERSION_H

#define BATOU_NG_VERSION "0.1.0"

#endif
