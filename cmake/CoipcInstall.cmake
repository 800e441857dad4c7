# cmake --install: the static libraries, the module interface sources (consumers compile the
# module interfaces themselves) and the exported targets coipc::coipc and coipc::asio.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(COIPC_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/coipc)
set(COIPC_MODULES_INSTALL_DIR ${CMAKE_INSTALL_DATADIR}/coipc/modules)
set(COIPC_MODULES_SOURCE_DIR ${PROJECT_SOURCE_DIR}/modules)
set(COIPC_SOURCE_DIR ${PROJECT_SOURCE_DIR})
set(COIPC_BINARY_DIR ${PROJECT_BINARY_DIR})

install(TARGETS coipc coipc_asio
  EXPORT coipcTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  FILE_SET CXX_MODULES DESTINATION ${COIPC_MODULES_INSTALL_DIR}
  CXX_MODULES_BMI DESTINATION ${CMAKE_INSTALL_LIBDIR}/coipc/bmi)
install(EXPORT coipcTargets
  NAMESPACE coipc::
  DESTINATION ${COIPC_INSTALL_CMAKEDIR}
  CXX_MODULES_DIRECTORY modules)

# Relocatable: CMake 4.3 records each module's *source* path in the installed
# target-<name>-<config>.cmake (IMPORTED_CXX_MODULES_<CONFIG>), although it installs the
# files under share/coipc/modules and names them there in the FILE_SET. Point those entries
# at the installed copies, relative to the prefix the package is found in, and refuse to
# install a package that still names this source tree.
set(_coipc_relocate [[
  set(_coipc_modules_dir "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/@COIPC_INSTALL_CMAKEDIR@/modules")
  file(GLOB _coipc_module_files "${_coipc_modules_dir}/target-*.cmake")
  foreach(_coipc_file IN LISTS _coipc_module_files)
    file(READ "${_coipc_file}" _coipc_text)
    string(REPLACE "@COIPC_MODULES_SOURCE_DIR@/" "\${_IMPORT_PREFIX}/@COIPC_MODULES_INSTALL_DIR@/"
           _coipc_text "${_coipc_text}")
    file(WRITE "${_coipc_file}" "${_coipc_text}")
  endforeach()
  file(GLOB_RECURSE _coipc_cmake_files "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/@COIPC_INSTALL_CMAKEDIR@/*.cmake")
  foreach(_coipc_file IN LISTS _coipc_cmake_files)
    file(STRINGS "${_coipc_file}" _coipc_hits REGEX "@COIPC_SOURCE_DIR@/|@COIPC_BINARY_DIR@/")
    if(_coipc_hits)
      message(FATAL_ERROR "coipc: the installed ${_coipc_file} still names the build machine's tree: ${_coipc_hits}")
    endif()
  endforeach()
]])
string(CONFIGURE "${_coipc_relocate}" _coipc_relocate @ONLY)
install(CODE "${_coipc_relocate}")

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/coipcConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/coipcConfig.cmake
  INSTALL_DESTINATION ${COIPC_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/coipcConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/coipcConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/coipcConfigVersion.cmake
  DESTINATION ${COIPC_INSTALL_CMAKEDIR})
