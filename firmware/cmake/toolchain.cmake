# Reads the board's machine file (MTQ_MACHINE_FILE) and selects its bare-metal cross compiler.
# Must run before the first project(): firmware/CMakeLists.txt includes it when it is the top
# level, and a generated project's CMakeLists.txt (firmware/project/) includes it itself.
# Sets MTQ_BOARD_* variables from the machine file for firmware/CMakeLists.txt.
include_guard(GLOBAL)

if(NOT MTQ_MACHINE_FILE)
  message(FATAL_ERROR "MTQ_MACHINE_FILE is not set: pass -DMTQ_MACHINE_FILE=/path/to/machines/<board>.json")
endif()
if(NOT EXISTS "${MTQ_MACHINE_FILE}")
  message(FATAL_ERROR "MTQ_MACHINE_FILE ${MTQ_MACHINE_FILE} does not exist")
endif()
file(READ "${MTQ_MACHINE_FILE}" MTQ_MACHINE_JSON)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${MTQ_MACHINE_FILE}")

# mtq_machine_get(<out> <key>...): one value of the machine file, or a FATAL_ERROR naming it.
# The server validates machine files fully (machine/machine.c); this only reads them.
function(mtq_machine_get out)
  string(JSON value ERROR_VARIABLE error GET "${MTQ_MACHINE_JSON}" ${ARGN})
  if(error)
    string(REPLACE ";" "." field "${ARGN}")
    message(FATAL_ERROR "${MTQ_MACHINE_FILE}: ${field}: ${error}")
  endif()
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

# mtq_machine_list(<out> <key>...): a JSON array of strings as a CMake list.
function(mtq_machine_list out)
  string(JSON n ERROR_VARIABLE error LENGTH "${MTQ_MACHINE_JSON}" ${ARGN})
  if(error)
    string(REPLACE ";" "." field "${ARGN}")
    message(FATAL_ERROR "${MTQ_MACHINE_FILE}: ${field}: ${error}")
  endif()
  set(items "")
  if(n GREATER 0)
    math(EXPR last "${n} - 1")
    foreach(i RANGE ${last})
      string(JSON item GET "${MTQ_MACHINE_JSON}" ${ARGN} ${i})
      list(APPEND items "${item}")
    endforeach()
  endif()
  set(${out} "${items}" PARENT_SCOPE)
endfunction()

mtq_machine_get(MTQ_BOARD_NAME name)
mtq_machine_get(MTQ_BOARD_ARCH arch)
mtq_machine_get(MTQ_BOARD_CPU cpu)
mtq_machine_get(MTQ_BOARD_CC_PREFIX compiler prefix)
mtq_machine_list(MTQ_BOARD_CFLAGS compiler flags)
mtq_machine_list(MTQ_BOARD_LIBCS libcs)

# The C library, checked before the compiler is even looked for: the clearest failure first.
if(NOT MTQ_LIBC)
  list(GET MTQ_BOARD_LIBCS 0 MTQ_LIBC)
endif()
if(NOT MTQ_LIBC IN_LIST MTQ_BOARD_LIBCS)
  string(REPLACE ";" ", " have "${MTQ_BOARD_LIBCS}")
  message(FATAL_ERROR "board ${MTQ_BOARD_NAME} has no C library '${MTQ_LIBC}': it supports ${have} "
                      "(set MTQ_LIBC, the libc option, to one of them)")
endif()

find_program(MTQ_CC "${MTQ_BOARD_CC_PREFIX}gcc")
if(NOT MTQ_CC)
  message(FATAL_ERROR "no ${MTQ_BOARD_CC_PREFIX}gcc in PATH: board ${MTQ_BOARD_NAME} needs it "
                      "(scripts/install-deps.sh installs the cross toolchains)")
endif()
get_filename_component(_mtq_cc_dir "${MTQ_CC}" DIRECTORY)
set(MTQ_SIZE "${_mtq_cc_dir}/${MTQ_BOARD_CC_PREFIX}size")

set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR "${MTQ_BOARD_ARCH}")
set(CMAKE_C_COMPILER "${MTQ_CC}")
set(CMAKE_ASM_COMPILER "${MTQ_CC}")
set(CMAKE_AR "${_mtq_cc_dir}/${MTQ_BOARD_CC_PREFIX}ar")
set(CMAKE_RANLIB "${_mtq_cc_dir}/${MTQ_BOARD_CC_PREFIX}ranlib")
# Compiler checks must not link: there is no start-up code or linker script yet.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
# The CPU flags go in from the start, so that even CMake's checks pick the right multilib.
string(REPLACE ";" " " _mtq_cflags "${MTQ_BOARD_CFLAGS}")
set(CMAKE_C_FLAGS_INIT "${_mtq_cflags}")
set(CMAKE_ASM_FLAGS_INIT "${_mtq_cflags}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_mtq_cflags}")
# No build-type flags: MTQ_OPT_LEVEL alone decides optimization.
set(CMAKE_BUILD_TYPE "" CACHE STRING "unused: the firmware's optimization is MTQ_OPT_LEVEL")
