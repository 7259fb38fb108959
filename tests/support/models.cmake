# Native (host) builds of the firmware's aot_standalone application with the sample models of
# tests/fixtures/mlf/, on tests/support/host_board.c instead of a board: the host reference.
#   <model>_host_ref   stdin -> commands, stdout -> replies; byte for byte what the firmware
#                      sends, except the banner's board and libc and the stats line's counts
#   mtq_aot_digits_int8 the app + digits model as a library, linked into test_aot_app
# include()d from tests/CMakeLists.txt after its foreach over the tests (it adds to test_aot_app).
set(MTQ_MODELS_ROOT ${CMAKE_CURRENT_LIST_DIR}/../..)
include(${MTQ_MODELS_ROOT}/firmware/aot/model_table.cmake)

# mtq_host_model(<name> <fixture> <workspace bytes>): library mtq_aot_<name> (app, allocator,
# model, generated table) and executable <name>_host_ref.
function(mtq_host_model name fixture workspace)
  set(model_dir ${MTQ_MODELS_ROOT}/tests/fixtures/mlf/${fixture})
  set(table ${CMAKE_CURRENT_BINARY_DIR}/${name}_aot_model.c)
  mtq_aot_model_table(${model_dir} ${table} prefix model_workspace)
  file(GLOB model_sources CONFIGURE_DEPENDS ${model_dir}/codegen/host/src/*.c)
  set(aot ${MTQ_MODELS_ROOT}/firmware/aot)
  # Not instrumented on the host: the operator-count hooks never run, their table stays empty.
  set(op_names ${CMAKE_CURRENT_BINARY_DIR}/${name}_aot_op_names.c)
  mtq_aot_op_names("${model_sources}" ${op_names} OFF)
  # link.h as the UART build has it (firmware/link/uart.c), on host_board's UART
  add_library(mtq_aot_${name} STATIC ${aot}/app.c ${aot}/arena.c ${aot}/workspace.c ${table}
              ${aot}/opcount.c ${aot}/probe.c ${op_names} ${model_sources}
              ${MTQ_MODELS_ROOT}/firmware/link/uart.c)
  target_include_directories(mtq_aot_${name} PUBLIC ${aot}
    PRIVATE ${model_dir}/codegen/host/include ${MTQ_MODELS_ROOT}/firmware/compat
            ${MTQ_MODELS_ROOT}/firmware/include ${MTQ_MODELS_ROOT}/tests/support)
  target_compile_definitions(mtq_aot_${name} PRIVATE MTQ_WORKSPACE_BYTES=${workspace})
  add_executable(${name}_host_ref ${MTQ_MODELS_ROOT}/firmware/apps/aot_standalone.c
                 ${MTQ_MODELS_ROOT}/tests/support/host_board.c)
  target_include_directories(${name}_host_ref PRIVATE ${MTQ_MODELS_ROOT}/firmware/include
                             ${MTQ_MODELS_ROOT}/tests/support)
  target_link_libraries(${name}_host_ref PRIVATE mtq_aot_${name})
endfunction()

# Arena sizes as aot_standalone.cmake would choose them (the model's figure * 2 + 1 KiB), and
# one far too small, so the out-of-workspace report is tested.
mtq_host_model(digits_int8 digits_int8 1344)
mtq_host_model(float_tiny float_tiny 1088)
mtq_host_model(digits_int8_small digits_int8 64)

if(TARGET test_aot_app)
  target_link_libraries(test_aot_app PRIVATE mtq_aot_digits_int8 mtq_test_support)
  target_compile_definitions(test_aot_app PRIVATE MTQ_HAVE_AOT_HOST=1)
  add_dependencies(test_aot_app digits_int8_host_ref float_tiny_host_ref
                   digits_int8_small_host_ref)
endif()

# Tests that run the host reference programs need them built first.
foreach(t test_cli_aot e2e_aot)
  if(TARGET ${t})
    add_dependencies(${t} digits_int8_host_ref float_tiny_host_ref digits_int8_small_host_ref)
  endif()
endforeach()
