# The host_driven project type: TVM's C runtime (CRT) and its RPC server, our platform layer
# (firmware/platform/) and the model's generated sources, added to the `firmware` target.
# Included by firmware/CMakeLists.txt after that target exists. Inputs (docs/BOARD_CONTRACT.md):
#   MTQ_CRT_DIR    the standalone CRT: include/tvm/runtime/crt/... and src/runtime/crt/...
#                  (TVM's standalone_crt, or the runtime/ an AOT+CRT MLF carries). A directory
#                  holding a FAKE_CRT marker (tests/fixtures/fake_crt), or -DMTQ_FAKE_CRT=ON,
#                  selects the test double instead: see tests/fixtures/fake_crt/FAKE_CRT.
#   MTQ_MODEL_DIR  optional: the extracted MLF; codegen/host/src/*.c (and lib/*.o) are linked
#                  (with the fake CRT they are left out: it runs no model).
#   MTQ_PREBUILT_CRT_LIB  optional: a libmtq_crt.a built earlier from the same CRT tree,
#                  firmware/platform, board, libc and flags (the server's cache): linked instead
#                  of compiling the CRT.
# The CRT becomes the static library mtq_crt. It depends only on the compiler flags, our
# crt_config.h and the CRT's files, never on the board layer or the model, so a cache can
# build it once per (board, libc, flags, CRT content).
set(MTQ_FAKE_CRT OFF CACHE BOOL "build host_driven against tests/fixtures/fake_crt (no TVM)")
set(MTQ_PREBUILT_CRT_LIB "" CACHE FILEPATH
    "a libmtq_crt.a built earlier from the same CRT, board, libc and flags: linked, not compiled")
set(_crt_fix "pass standalone_crt_dir to generate_project or use an MLF with runtime/")
if(NOT MTQ_CRT_DIR)
  message(FATAL_ERROR "host_driven: MTQ_CRT_DIR is not set: the firmware needs TVM's standalone "
                      "C runtime (${_crt_fix})")
endif()
if(NOT IS_DIRECTORY "${MTQ_CRT_DIR}")
  message(FATAL_ERROR "host_driven: MTQ_CRT_DIR ${MTQ_CRT_DIR} is not a directory (${_crt_fix})")
endif()
if(EXISTS "${MTQ_CRT_DIR}/FAKE_CRT")
  set(MTQ_FAKE_CRT ON)
endif()
if(MTQ_PREBUILT_CRT_LIB AND NOT EXISTS "${MTQ_PREBUILT_CRT_LIB}")
  message(FATAL_ERROR "host_driven: MTQ_PREBUILT_CRT_LIB ${MTQ_PREBUILT_CRT_LIB} does not exist "
                      "(leave it empty to build the CRT here)")
endif()

# mtq_crt from the cache: an imported library with the include directories the one built here
# would pass on. Its headers are this project's copy of the same CRT tree the library was
# built from (the cache key covers the tree's content).
macro(mtq_crt_prebuilt)
  message(STATUS "host_driven: CRT prebuilt: ${MTQ_PREBUILT_CRT_LIB}")
  add_library(mtq_crt STATIC IMPORTED GLOBAL)
  set_target_properties(mtq_crt PROPERTIES IMPORTED_LOCATION "${MTQ_PREBUILT_CRT_LIB}")
  target_include_directories(mtq_crt INTERFACE ${ARGN})
endmacro()

set(_platform ${CMAKE_CURRENT_LIST_DIR}/../platform)
get_filename_component(_platform "${_platform}" ABSOLUTE)

if(MTQ_FAKE_CRT)
  # ---- the test double: one C file, no C++ ----
  if(NOT EXISTS "${MTQ_CRT_DIR}/src/fake_rpc_server.c")
    message(FATAL_ERROR "host_driven: MTQ_FAKE_CRT is on but ${MTQ_CRT_DIR}/src/fake_rpc_server.c "
                        "is missing: point MTQ_CRT_DIR at tests/fixtures/fake_crt")
  endif()
  message(STATUS "host_driven: FAKE CRT from ${MTQ_CRT_DIR} (tests only: runs no model)")
  if(MTQ_PREBUILT_CRT_LIB)
    mtq_crt_prebuilt(${MTQ_CRT_DIR}/include)
  else()
    add_library(mtq_crt STATIC ${MTQ_CRT_DIR}/src/fake_rpc_server.c)
    target_include_directories(mtq_crt PUBLIC ${MTQ_CRT_DIR}/include PRIVATE ${_platform})
  endif()
  target_sources(firmware PRIVATE ${_platform}/platform.c)
else()
  # ---- TVM's CRT ----
  if(NOT IS_DIRECTORY "${MTQ_CRT_DIR}/include/tvm/runtime/crt")
    message(FATAL_ERROR "host_driven: ${MTQ_CRT_DIR} has no include/tvm/runtime/crt: it is not a "
                        "standalone CRT (${_crt_fix})")
  endif()
  # The parts PROJECT_API.md section 7 lists, globbed so that the CRT of any TVM 0.1x works.
  set(_crt_src ${MTQ_CRT_DIR}/src/runtime/crt)
  set(_crt_sources "")
  foreach(part microtvm_rpc_server microtvm_rpc_common common memory graph_executor
               graph_executor_module aot_executor aot_executor_module)
    if(NOT IS_DIRECTORY "${_crt_src}/${part}")
      message(FATAL_ERROR "host_driven: ${_crt_src}/${part} is missing: the CRT in ${MTQ_CRT_DIR} "
                          "is incomplete (${_crt_fix})")
    endif()
    file(GLOB _part_sources CONFIGURE_DEPENDS ${_crt_src}/${part}/*.c ${_crt_src}/${part}/*.cc)
    list(APPEND _crt_sources ${_part_sources})
  endforeach()

  # The RPC server and framing are C++. The board's g++ comes with its gcc in Debian; there is
  # no C++ library for riscv64-unknown-elf in Debian 12, so the CRT is built against our few
  # freestanding headers (firmware/platform/cxx/README.md) on every board alike.
  get_filename_component(_cc_dir "${CMAKE_C_COMPILER}" DIRECTORY)
  # the facts CMake found about g++ when it built the cached CRT (see firmware/project/)
  if(MTQ_PREBUILT_CRT_LIB AND CMAKE_CXX_COMPILER_FORCED)
    get_filename_component(_mtq_crt_entry "${MTQ_PREBUILT_CRT_LIB}" DIRECTORY)
    if(EXISTS "${_mtq_crt_entry}/cmake-${CMAKE_VERSION}/CMakeCXXCompiler.cmake")
      include("${_mtq_crt_entry}/cmake-${CMAKE_VERSION}/CMakeCXXCompiler.cmake")
    endif()
  endif()
  # the CPU flags, whoever chose the compiler: every C++ object runs on the board's CPU
  string(REPLACE ";" " " _cxx_cpu_flags "${MTQ_BOARD_CFLAGS}")
  set(CMAKE_CXX_FLAGS_INIT "${_cxx_cpu_flags}")
  if(NOT CMAKE_CXX_COMPILER)
    find_program(MTQ_CXX "${MTQ_BOARD_CC_PREFIX}g++" HINTS "${_cc_dir}")
    if(NOT MTQ_CXX)
      message(FATAL_ERROR "host_driven: no ${MTQ_BOARD_CC_PREFIX}g++ next to ${CMAKE_C_COMPILER}: "
                          "TVM's RPC server is C++ (scripts/install-deps.sh installs it with gcc)")
    endif()
    set(CMAKE_CXX_COMPILER "${MTQ_CXX}")
  endif()
  enable_language(CXX)

  if(MTQ_PREBUILT_CRT_LIB)
    mtq_crt_prebuilt(${_platform} ${MTQ_CRT_DIR}/include)
  else()
    add_library(mtq_crt STATIC ${_crt_sources})
    # TVM's sources are third-party code: their own warnings (int32_t vs int in function pointer
    # types on these targets) are not ours to fix, and never -Werror.
    # Some CRT files use PRIu64 and friends without including <inttypes.h>; picolibc's headers
    # happen to bring it in, newlib's do not. And Debian's newlib inttypes.h defines the 64-bit
    # PRI macros only under __int64_t_defined, which newlib's stdint.h would set but GCC's own
    # stdint.h (the one these compilers use) does not, although int64_t exists.
    if(MTQ_LIBC MATCHES "^newlib")
      target_compile_definitions(mtq_crt PRIVATE __int64_t_defined=1)
    endif()
    # -ffile-prefix-map: the CRT's asserts embed __FILE__; mapped, the library's bytes do not
    # depend on where the project lives, so a cached copy is the one any project would build.
    target_compile_options(mtq_crt PRIVATE -w -ffile-prefix-map=${MTQ_CRT_DIR}/=crt/
      $<$<COMPILE_LANGUAGE:C>:-include inttypes.h>
      $<$<COMPILE_LANGUAGE:CXX>:-fno-exceptions -fno-rtti -fno-threadsafe-statics -nostdinc++>)
    target_include_directories(mtq_crt
      PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${_platform}/cxx>
      PUBLIC ${_platform} ${MTQ_CRT_DIR}/include)
    # gnu11: the CRT calls strnlen, which picolibc declares only outside strict ISO C
    set_target_properties(mtq_crt PROPERTIES C_STANDARD 11 C_EXTENSIONS ON
                          CXX_STANDARD 17 CXX_EXTENSIONS OFF)
  endif()
  target_sources(firmware PRIVATE ${_platform}/platform.c ${_platform}/system_lib.c
                 ${_platform}/cxx_support.cc)
  set_source_files_properties(${_platform}/cxx_support.cc PROPERTIES
    COMPILE_OPTIONS "-fno-exceptions;-fno-rtti;-nostdinc++;-I${_platform}/cxx")
  target_compile_definitions(firmware PRIVATE MTQ_CRT_GRAPH_EXECUTOR=1)
endif()

target_include_directories(firmware PRIVATE ${_platform})
target_link_libraries(firmware PRIVATE mtq_crt)
# Link with gcc, never g++: g++ would add -lstdc++, which riscv64-unknown-elf does not have
# and which nothing here needs (cxx_support.cc supplies new, delete and __cxa_pure_virtual).
set_target_properties(firmware PROPERTIES LINKER_LANGUAGE C)

# ---- the model ----
if(MTQ_MODEL_DIR)
  if(NOT IS_DIRECTORY "${MTQ_MODEL_DIR}")
    message(FATAL_ERROR "host_driven: MTQ_MODEL_DIR ${MTQ_MODEL_DIR} is not a directory")
  endif()
  file(GLOB _model_sources CONFIGURE_DEPENDS ${MTQ_MODEL_DIR}/codegen/host/src/*.c)
  file(GLOB _model_objects CONFIGURE_DEPENDS ${MTQ_MODEL_DIR}/codegen/host/lib/*.o)
  # The fake CRT has none of the runtime headers the model's sources include, and no executor
  # to call them: the model is left out (the project still builds, boots and shakes hands).
  if(MTQ_FAKE_CRT AND (_model_sources OR _model_objects))
    list(LENGTH _model_sources _n_src)
    list(LENGTH _model_objects _n_obj)
    message(STATUS "host_driven: FAKE CRT: the model in ${MTQ_MODEL_DIR} is NOT linked "
                   "(${_n_src} sources, ${_n_obj} objects left out; the fake runs no model: "
                   "pass TVM's standalone_crt_dir to run it)")
  elseif(_model_sources OR _model_objects)
    target_sources(firmware PRIVATE ${_model_sources} ${_model_objects})
    if(IS_DIRECTORY ${MTQ_MODEL_DIR}/codegen/host/include)
      target_include_directories(firmware PRIVATE ${MTQ_MODEL_DIR}/codegen/host/include)
    endif()
  endif()
endif()
