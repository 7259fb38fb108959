# CMSIS-NN for models partitioned with TVM's relay.op.contrib.cmsisnn.partition_for_cmsisnn
# (their generated C calls arm_* functions). MTQ_CMSIS_PATH (the cmsis_path option, checked by
# the server: an existing directory with a plain name) may be laid out as
#   <path>/Include/arm_nnfunctions.h, <path>/Source/*/*.c            a CMSIS-NN checkout
#   <path>/CMSIS-NN/Include/..., <path>/CMSIS-NN/Source/...          CMSIS-NN beside CMSIS_5, as
#                                                                    TVM's CI and Zephyr lay it out
#   <path>/CMSIS/NN/Include/..., <path>/CMSIS/NN/Source/...          CMSIS_5's own CMSIS/NN
# The first that has arm_nnfunctions.h wins. Its sources become mtq_cmsis_nn, a static library
# built with the firmware's flags (not its warnings: CMSIS is not ours to fix) and linked into
# the firmware, where --gc-sections keeps only what the model calls. CMSIS_5's Core and DSP
# include directories are added when present (CMSIS_5's NN sources need them). A cmsis_path
# without CMSIS-NN in any layout still adds those include directories, as before.
if(NOT MTQ_CMSIS_PATH)
  return()
endif()
set(mtq_cmsis_nn_root "")
foreach(layout "." "CMSIS-NN" "CMSIS/NN")
  if(EXISTS ${MTQ_CMSIS_PATH}/${layout}/Include/arm_nnfunctions.h AND
     IS_DIRECTORY ${MTQ_CMSIS_PATH}/${layout}/Source)
    get_filename_component(mtq_cmsis_nn_root ${MTQ_CMSIS_PATH}/${layout} ABSOLUTE)
    break()
  endif()
endforeach()
set(mtq_cmsis_includes "")
foreach(dir Include CMSIS/Core/Include CMSIS/DSP/Include CMSIS/DSP/Include/dsp CMSIS/NN/Include)
  if(IS_DIRECTORY ${MTQ_CMSIS_PATH}/${dir})
    list(APPEND mtq_cmsis_includes ${MTQ_CMSIS_PATH}/${dir})
  endif()
endforeach()
if(mtq_cmsis_nn_root)
  list(PREPEND mtq_cmsis_includes ${mtq_cmsis_nn_root}/Include)
  list(REMOVE_DUPLICATES mtq_cmsis_includes)
  file(GLOB mtq_cmsis_nn_sources CONFIGURE_DEPENDS ${mtq_cmsis_nn_root}/Source/*/*.c)
  # Newer CMSIS-NN keeps float kernels behind ARM_NN_ENABLE_F32/F16 (off by default in its own
  # CMake, and TVM's CMSIS-NN offload is int8/int16): leave them out the same way.
  list(FILTER mtq_cmsis_nn_sources EXCLUDE REGEX "_f(16|32)\\.c$")
  if(NOT mtq_cmsis_nn_sources)
    message(FATAL_ERROR "cmsis_path ${MTQ_CMSIS_PATH}: ${mtq_cmsis_nn_root}/Source has no "
                        "*/*.c; point cmsis_path at a complete CMSIS-NN or CMSIS_5 checkout")
  endif()
  add_library(mtq_cmsis_nn STATIC ${mtq_cmsis_nn_sources})
  target_include_directories(mtq_cmsis_nn PUBLIC ${mtq_cmsis_includes})
  target_link_libraries(firmware PRIVATE mtq_cmsis_nn)
  list(LENGTH mtq_cmsis_nn_sources n)
  message(STATUS "CMSIS-NN: ${n} sources from ${mtq_cmsis_nn_root}")
else()
  target_include_directories(firmware PRIVATE ${mtq_cmsis_includes})
  message(STATUS "cmsis_path ${MTQ_CMSIS_PATH}: no CMSIS-NN found (no Include/arm_nnfunctions.h "
                 "in ., CMSIS-NN/ or CMSIS/NN/); include directories only")
endif()
