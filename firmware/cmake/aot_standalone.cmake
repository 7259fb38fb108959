# The aot_standalone project type: the model runs on the board by itself and answers the line
# protocol in firmware/README.md. Included by firmware/CMakeLists.txt after the `firmware` target
# exists. Inputs (docs/BOARD_CONTRACT.md): MTQ_MODEL_DIR (the extracted MLF, required) and
# MTQ_WORKSPACE_BYTES (the workspace arena; default: the model's own figure doubled plus 1 KiB,
# room for the allocator's per-block header and alignment).
# The model's tensors are read from metadata.json at configure time into a generated C table
# (firmware/aot/model_table.cmake), so the application sources are the same for every model.
set(MTQ_AOT_DIR ${CMAKE_CURRENT_LIST_DIR}/../aot)
set(MTQ_AOT_APP ${CMAKE_CURRENT_LIST_DIR}/../apps/aot_standalone.c)
include(${MTQ_AOT_DIR}/model_table.cmake)

if(NOT MTQ_MODEL_DIR)
  message(FATAL_ERROR "aot_standalone needs MTQ_MODEL_DIR: the directory of an extracted Model "
                      "Library Format (the project's model/)")
endif()
get_filename_component(MTQ_MODEL_DIR "${MTQ_MODEL_DIR}" ABSOLUTE)

mtq_aot_model_table(${MTQ_MODEL_DIR} ${CMAKE_CURRENT_BINARY_DIR}/aot_model.c
                    mtq_aot_prefix mtq_aot_model_workspace)
if(NOT MTQ_WORKSPACE_BYTES)
  math(EXPR MTQ_WORKSPACE_BYTES "${mtq_aot_model_workspace} * 2 + 1024")
elseif(MTQ_WORKSPACE_BYTES LESS mtq_aot_model_workspace)
  message(WARNING "MTQ_WORKSPACE_BYTES=${MTQ_WORKSPACE_BYTES} is less than the "
                  "${mtq_aot_model_workspace} bytes the model's metadata.json asks for: runs "
                  "will fail with 'workspace exhausted'; raise workspace_size_bytes")
endif()

# Every generated C source, and the objects of an llvm-target build when there are any.
file(GLOB mtq_aot_model_sources ${MTQ_MODEL_DIR}/codegen/host/src/*.c)
file(GLOB mtq_aot_model_objects ${MTQ_MODEL_DIR}/codegen/host/lib/*.o)
if(NOT mtq_aot_model_sources AND NOT mtq_aot_model_objects)
  message(FATAL_ERROR "${MTQ_MODEL_DIR}/codegen/host: no src/*.c and no lib/*.o; was the model "
                      "compiled for the c (or llvm) target?")
endif()
set_source_files_properties(${mtq_aot_model_objects} PROPERTIES EXTERNAL_OBJECT TRUE
                                                                GENERATED TRUE)

# Per-operator counts (opcount.h): the model's C sources, and the calibration probe, call the
# counting hooks on every function entry and exit. The names of the functions they define
# (C identifiers matched in the text, nothing else taken from it) go into a generated table.
set(MTQ_OPERATOR_COUNTS ON CACHE BOOL "count instructions per function of the model's sources")
mtq_aot_op_names("${mtq_aot_model_sources}" ${CMAKE_CURRENT_BINARY_DIR}/aot_op_names.c
                 ${MTQ_OPERATOR_COUNTS})
if(MTQ_OPERATOR_COUNTS)
  set_source_files_properties(${mtq_aot_model_sources} ${MTQ_AOT_DIR}/probe.c PROPERTIES
                              COMPILE_OPTIONS -finstrument-functions)
endif()

target_sources(firmware PRIVATE
  ${MTQ_AOT_APP}
  ${MTQ_AOT_DIR}/app.c
  ${MTQ_AOT_DIR}/arena.c
  ${MTQ_AOT_DIR}/workspace.c
  ${MTQ_AOT_DIR}/opcount.c
  ${MTQ_AOT_DIR}/probe.c
  ${CMAKE_CURRENT_BINARY_DIR}/aot_model.c
  ${CMAKE_CURRENT_BINARY_DIR}/aot_op_names.c
  ${mtq_aot_model_sources}
  ${mtq_aot_model_objects})

# TVM's runtime headers: the MLF's own when it carries the standalone runtime, else ours.
if(EXISTS ${MTQ_MODEL_DIR}/runtime/include/tvm/runtime/c_runtime_api.h)
  set(mtq_aot_runtime_include ${MTQ_MODEL_DIR}/runtime/include)
else()
  set(mtq_aot_runtime_include ${CMAKE_CURRENT_LIST_DIR}/../compat)
endif()
target_include_directories(firmware PRIVATE
  ${MTQ_AOT_DIR} ${MTQ_MODEL_DIR}/codegen/host/include ${mtq_aot_runtime_include})
target_compile_definitions(firmware PRIVATE MTQ_WORKSPACE_BYTES=${MTQ_WORKSPACE_BYTES})

# aot_standalone_demo (TVM's Zephyr project type): input 0 is include/tvm/input_data.h's
# input_data[], as TVM's demo takes it (from extra_files_tar), and infer%'s label breaks ties
# toward the last index, as the demo's >= does.
if(MTQ_AOT_DEMO)
  if(NOT EXISTS ${CMAKE_SOURCE_DIR}/include/tvm/input_data.h)
    message(FATAL_ERROR "aot_standalone_demo takes its input from include/tvm/input_data.h, "
                        "which this project lacks: give extra_files_tar a tar holding it (TVM's "
                        "tvm.micro.testing.utils.create_header_file writes one), or use "
                        "aot_standalone")
  endif()
  target_compile_definitions(firmware PRIVATE MTQ_AOT_DEMO=1)
endif()

# A default input for infer% without input commands: <project>/include/mtq_default_input.h
# (for example from extra_files_tar), one `static const unsigned char mtq_default_input_<i>[]`
# per input, of exactly that input's size. Without it the inputs start as zeros.
if(EXISTS ${CMAKE_SOURCE_DIR}/include/mtq_default_input.h)
  target_include_directories(firmware PRIVATE ${CMAKE_SOURCE_DIR}/include)
  target_compile_definitions(firmware PRIVATE MTQ_HAVE_DEFAULT_INPUT=1)
endif()
