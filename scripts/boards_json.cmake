# Writes the template's boards.json (TVM's board -> target model map) from the machine files,
# through `microtvm-qemu machines --boards-json` so that one piece of code derives it.
#   cmake -DCLI=<build>/bin/microtvm-qemu -DOUT=<template>/boards.json -P boards_json.cmake
execute_process(COMMAND ${CLI} machines --boards-json OUTPUT_FILE ${OUT}.new
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  file(REMOVE ${OUT}.new)
  message(FATAL_ERROR "${CLI} machines --boards-json failed (${status})")
endif()
file(RENAME ${OUT}.new ${OUT})
