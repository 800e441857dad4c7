# COIPC_SANITIZER: a list of -fsanitize= values ("address;undefined" or "thread"), set by
# the asan and tsan presets. Applied to every target of the build, so that the library,
# the tests and the child processes the tests exec are all instrumented alike.
set(COIPC_SANITIZER "" CACHE STRING "Sanitizers to build with (address;undefined, thread)")
if(COIPC_SANITIZER)
  list(JOIN COIPC_SANITIZER "," _coipc_sanitizers)
  add_compile_options(-fsanitize=${_coipc_sanitizers} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_coipc_sanitizers})
endif()
