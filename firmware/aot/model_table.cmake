# mtq_aot_model_table(<model_dir> <out_c> <out_prefix_var> <out_workspace_var>)
#
# Writes <out_c>: the tensor table and run call of firmware/aot/model.h, so the firmware need not
# know tensor names. Sets <out_prefix_var> to the module's C prefix ("tvmgen_default") and
# <out_workspace_var> to the module's workspace_size_bytes. The facts come from
# MTQ_AOT_TABLE_FILE when it is set (model_tensors.cmake, which generate_project writes from
# metadata.json once, in linear time) and otherwise from <model_dir>/metadata.json (Model Library
# Format version 7, one AOT module) with CMake's string(JSON), which re-parses the whole function
# per tensor: quadratic, fine for the trusted fixtures of the host build only.
# Names and dtypes reach the C text only when they match the shapes TVM writes.
# Used by firmware/cmake/aot_standalone.cmake and by the host build in tests/support/models.cmake.

# Reads metadata.json into mod, workspace, tensors_inputs and tensors_outputs ("name|dtype|size"
# lists) of the calling function.
macro(_mtq_aot_read_metadata meta_path)
  if(NOT EXISTS ${meta_path})
    message(FATAL_ERROR "${meta_path}: not found; MTQ_MODEL_DIR must be an extracted Model Library "
                        "Format (tvmc compile --output-format mlf)")
  endif()
  file(READ ${meta_path} meta)
  string(JSON version ERROR_VARIABLE err GET "${meta}" version)
  if(err)
    message(FATAL_ERROR "${meta_path}: no \"version\" (${err}); is this a Model Library Format?")
  endif()
  if(version LESS 7)
    message(FATAL_ERROR "${meta_path}: version ${version} lists no input or output sizes, which "
                        "aot_standalone needs; export the model with a newer TVM (metadata "
                        "version 7), or use project_type host_driven")
  endif()
  string(JSON nmods ERROR_VARIABLE err LENGTH "${meta}" modules)
  if(err OR NOT nmods EQUAL 1)
    message(FATAL_ERROR "${meta_path}: want exactly one module under \"modules\", found "
                        "'${nmods}' ${err}; build one model per project")
  endif()
  string(JSON mod MEMBER "${meta}" modules 0)
  string(JSON executors ERROR_VARIABLE err GET "${meta}" modules ${mod} executors)
  if(err OR NOT executors MATCHES "\"aot\"")
    message(FATAL_ERROR "${meta_path}: module '${mod}' was not built for the AOT executor "
                        "(executors: ${executors}); compile with --executor=aot "
                        "--interface-api=c --unpacked-api=1, or use project_type host_driven")
  endif()
  string(JSON main ERROR_VARIABLE err GET "${meta}" modules ${mod} memory functions main 0)
  if(err)
    message(FATAL_ERROR "${meta_path}: no memory.functions.main[0] in module '${mod}' (${err})")
  endif()
  string(JSON workspace ERROR_VARIABLE err GET "${main}" workspace_size_bytes)
  if(err)
    set(workspace 0)
  endif()
  foreach(kind inputs outputs)
    set(tensors_${kind} "")
    string(JSON count ERROR_VARIABLE err LENGTH "${main}" ${kind})
    if(err)
      message(FATAL_ERROR "${meta_path}: module '${mod}' main has no \"${kind}\" (${err})")
    endif()
    if(count GREATER 0)
      math(EXPR last "${count} - 1")
      foreach(i RANGE ${last})
        string(JSON name MEMBER "${main}" ${kind} ${i})
        string(JSON dtype GET "${main}" ${kind} "${name}" dtype)
        string(JSON size GET "${main}" ${kind} "${name}" size)
        list(APPEND tensors_${kind} "${name}|${dtype}|${size}")
      endforeach()
    endif()
  endforeach()
endmacro()

# mtq_aot_write_if_changed(<path> <text>): writes text to path only when it differs from what is
# there (file(CONFIGURE) would expand @...@ in generated C), so a re-configure rebuilds nothing.
function(mtq_aot_write_if_changed path text)
  set(old "")
  if(EXISTS ${path})
    file(READ ${path} old)
  endif()
  if(NOT old STREQUAL text)
    file(WRITE ${path} "${text}")
  endif()
endfunction()

function(mtq_aot_model_table model_dir out_c out_prefix_var out_workspace_var)
  if(MTQ_AOT_TABLE_FILE)
    set(meta_path ${MTQ_AOT_TABLE_FILE})
    include(${MTQ_AOT_TABLE_FILE})
    set(mod "${MTQ_AOT_MODULE}")
    set(workspace "${MTQ_AOT_WORKSPACE}")
    set(tensors_inputs "${MTQ_AOT_INPUTS}")
    set(tensors_outputs "${MTQ_AOT_OUTPUTS}")
  else()
    set(meta_path ${model_dir}/metadata.json)
    _mtq_aot_read_metadata(${meta_path})
  endif()
  if(NOT mod MATCHES "^[A-Za-z0-9_]+$")
    message(FATAL_ERROR "${meta_path}: module name '${mod}' is not one TVM writes (letters, "
                        "digits and _)")
  endif()

  string(TOLOWER "${mod}" prefix)
  string(REGEX REPLACE "[^a-z0-9_]" "_" prefix "tvmgen_${prefix}")
  set(header ${model_dir}/codegen/host/include/${prefix}.h)
  if(NOT EXISTS ${header})
    message(FATAL_ERROR "${header}: not found; aot_standalone needs the C interface header "
                        "(compile with --interface-api=c)")
  endif()

  set(buffers "")
  set(tables "")
  set(defaults "")
  set(members_in "")
  set(members_out "")
  foreach(kind inputs outputs)
    list(LENGTH tensors_${kind} count)
    if(kind STREQUAL "outputs" AND count EQUAL 0)
      message(FATAL_ERROR "${meta_path}: module '${mod}' has no outputs")
    endif()
    set(table "const struct aot_tensor aot_model_${kind}[] = {\n")
    set(i 0)
    foreach(entry IN LISTS tensors_${kind}) # not list(GET): that would re-split per tensor
      string(REPLACE "|" ";" fields "${entry}")
      list(LENGTH fields nfields)
      if(NOT nfields EQUAL 3)
        message(FATAL_ERROR "${meta_path}: ${kind} entry '${entry}' is not name, dtype, size")
      endif()
      list(GET fields 0 name)
      list(GET fields 1 dtype)
      list(GET fields 2 size)
      if(NOT dtype MATCHES "^[a-z]+[0-9x]*$" OR NOT size MATCHES "^[0-9]+$" OR
         name MATCHES "[\\\\\"?\n]")
        message(FATAL_ERROR "${meta_path}: ${kind} '${name}' (dtype '${dtype}', size "
                            "'${size}') is not what TVM writes")
      endif()
      string(REGEX REPLACE "[^A-Za-z0-9_]" "_" member "${name}")
      string(REPLACE "\\" "\\\\" cname "${name}")
      string(REPLACE "\"" "\\\"" cname "${cname}")
      string(SUBSTRING ${kind} 0 3 short)
      set(buf "${short}_${i}")
      set(alloc ${size})
      if(alloc EQUAL 0)
        set(alloc 1)
      endif()
      string(APPEND buffers "static uint8_t ${buf}[${alloc}] __attribute__((aligned(16)));\n")
      string(APPEND table "    {\"${cname}\", \"${dtype}\", ${size}, ${buf}},\n")
      if(kind STREQUAL "inputs")
        string(APPEND members_in "        .${member} = ${buf},\n")
        string(APPEND defaults
          "#ifdef MTQ_HAVE_DEFAULT_INPUT\n"
          "    _Static_assert(sizeof(mtq_default_input_${i}) == ${size}, \"mtq_default_input.h: "
          "mtq_default_input_${i} must have ${size} bytes (input ${cname}, ${dtype})\");\n"
          "    memcpy(${buf}, mtq_default_input_${i}, ${size});\n"
          "#else\n"
          "    memset(${buf}, 0, ${size});\n"
          "#endif\n")
      else()
        string(APPEND members_out "        .${member} = ${buf},\n")
      endif()
      math(EXPR i "${i} + 1")
    endforeach()
    string(APPEND table "    {NULL, NULL, 0, NULL},\n};\n"
                        "const size_t aot_model_num_${kind} = ${count};\n")
    string(APPEND tables "${table}")
  endforeach()

  string(CONCAT text
    "/* Generated by firmware/aot/model_table.cmake from ${meta_path}; do not edit. */\n"
    "#include \"model.h\"\n"
    "#include \"${prefix}.h\"\n\n"
    "#include <string.h>\n"
    "#ifdef MTQ_HAVE_DEFAULT_INPUT\n#include \"mtq_default_input.h\"\n#endif\n\n"
    "${buffers}\n"
    "const char aot_model_name[] = \"${mod}\";\n"
    "const size_t aot_model_workspace_bytes = ${workspace};\n"
    "${tables}\n"
    "void aot_model_load_defaults(void)\n{\n${defaults}}\n\n"
    "int32_t aot_model_run(void)\n{\n"
    "    struct ${prefix}_inputs inputs = {\n${members_in}    };\n"
    "    struct ${prefix}_outputs outputs = {\n${members_out}    };\n"
    "    return ${prefix}_run(&inputs, &outputs);\n}\n")
  mtq_aot_write_if_changed(${out_c} "${text}")
  set(${out_prefix_var} ${prefix} PARENT_SCOPE)
  set(${out_workspace_var} ${workspace} PARENT_SCOPE)
endfunction()

# mtq_aot_op_names(<sources> <out.c> <enabled>): writes the name table of opcount.h, one entry
# per int32_t function the sources define with external linkage (TVM's operators, its main
# and run functions); empty when <enabled> is false. Written only when it changes.
function(mtq_aot_op_names sources out_c enabled)
  set(names "")
  if(enabled)
    foreach(src IN LISTS sources)
      file(STRINGS ${src} defs REGEX "^(TVM_DLL )?int32_t [A-Za-z_][A-Za-z0-9_]*\\(.*\\) *{ *$")
      foreach(def IN LISTS defs)
        string(REGEX REPLACE "^(TVM_DLL )?int32_t ([A-Za-z_][A-Za-z0-9_]*)\\(.*$" "\\2" name "${def}")
        list(APPEND names ${name})
      endforeach()
    endforeach()
    list(REMOVE_DUPLICATES names)
  endif()
  set(decls "")
  set(entries "")
  list(LENGTH names count)
  foreach(name IN LISTS names)
    string(APPEND decls "int32_t ${name}();\n")
    string(APPEND entries "    {(const void *)${name}, \"${name}\"},\n")
  endforeach()
  string(CONCAT text
    "/* Generated by firmware/aot/model_table.cmake from the model's sources; do not edit. */\n"
    "#include \"opcount.h\"\n\n"
    "/* Declared without a prototype: only their addresses are taken here. */\n"
    "${decls}\n"
    "const struct aot_op_name aot_op_names[] = {\n${entries}    {NULL, NULL},\n};\n"
    "const size_t aot_op_num_names = ${count};\n")
  mtq_aot_write_if_changed(${out_c} "${text}")
endfunction()
