#!/bin/sh
# Deployed by batou-ng to {{ host.name }}: do not edit, edit
# components/tick/tick.sh in the deployment project instead.
while true; do
    echo "$(date '+%H:%M:%S') {{ component.greeting }}"
    sleep {{ component.sleep }}
done
