# Warnings for the project's own targets, never for consumers of the installed package.
#
# They are wrapped in $<BUILD_INTERFACE:...>: CMake exports a module library's own compile
# options (IMPORTED_CXX_MODULES_COMPILE_OPTIONS) so that consumers can compile its module
# interfaces again, and a consumer must get none of coipc's warnings, least of all -Werror.
function(coipc_warnings target)
  target_compile_options(${target} PRIVATE $<BUILD_INTERFACE:-Wall -Wextra -Werror>)
endfunction()
