#!/bin/sh
# TVM runs this file to start the Project API server of this project (or template):
#   launch_microtvm_api_server.sh <ignored .py path> --read-fd N --write-fd M [--debug]
# The server is a C binary beside this script; the arguments pass through unchanged.
exec "$(dirname "$0")/microtvm-qemu-server" "$@"
