#!/bin/bash
# Runs inside the test VM for `make demo`: loads the module, runs cowdemo,
# unloads the module.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
insmod "$here/../module/cowmem.ko"
trap 'rmmod cowmem' EXIT
"$here/cowdemo"
