# cmake --install: the static libraries, the module interface sources (consumers compile the
# module interfaces themselves) and the exported targets coipc::coipc and coipc::asio.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(COIPC_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/coipc)

install(TARGETS coipc coipc_asio
  EXPORT coipcTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  FILE_SET CXX_MODULES DESTINATION ${CMAKE_INSTALL_DATADIR}/coipc/modules
  CXX_MODULES_BMI DESTINATION ${CMAKE_INSTALL_LIBDIR}/coipc/bmi)
install(EXPORT coipcTargets
  NAMESPACE coipc::
  DESTINATION ${COIPC_INSTALL_CMAKEDIR}
  CXX_MODULES_DIRECTORY modules)

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/coipcConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/coipcConfig.cmake
  INSTALL_DESTINATION ${COIPC_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/coipcConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/coipcConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/coipcConfigVersion.cmake
  DESTINATION ${COIPC_INSTALL_CMAKEDIR})
