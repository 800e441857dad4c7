# Warnings for the project's own targets (not for consumers of the installed package).
function(coipc_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
endfunction()
