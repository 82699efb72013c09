/* libFuzzer harness for the INI parser (environment.cfg, secrets.cfg). */
#include "engine/diag.h"
#include "environments/ini.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ini ini = {0};
    struct diags d;
    diags_init(&d);
    ini_parse(&ini, "fuzz.cfg", (const char *)data, size, &d);
    for (size_t i = 0; i < ini.count; i++)
        ini_find_entry(&ini.sections[i], "components");
    ini_release(&ini);
    diags_release(&d);
    return 0;
}
