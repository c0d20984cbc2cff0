# install.cmake — `cmake --install`: the generator, the runtime library and header, a CMake package
# (find_package(vggc) → vggc::vggc, vggc::runtime, vggc_add_classifier) and a pkg-config file.
# The layout is fixed (bin/, lib/, include/): `vggc build` looks for the runtime at exe_dir/../lib.
option(VGGC_INSTALL "Add vggc's install rules" ${VGGC_TOP_LEVEL})
if(NOT VGGC_INSTALL)
  return()
endif()

include(CMakePackageConfigHelpers)
set(VGGC_CMAKE_DIR lib/cmake/vggc)

install(TARGETS vggc vggc_runtime EXPORT vggcTargets
        RUNTIME DESTINATION bin
        ARCHIVE DESTINATION lib)
install(FILES ${PROJECT_SOURCE_DIR}/runtime/vggc.h DESTINATION include)
# the host half of the runtime, for the runners `vggc build` compiles (not a CMake target of the package)
install(TARGETS vggc_host ARCHIVE DESTINATION lib)
install(FILES ${PROJECT_SOURCE_DIR}/runtime/host/vggc_host.h DESTINATION include)
install(EXPORT vggcTargets NAMESPACE vggc:: DESTINATION ${VGGC_CMAKE_DIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/vggcConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/vggcConfig.cmake
                              INSTALL_DESTINATION ${VGGC_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/vggcConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/vggcConfig.cmake ${PROJECT_BINARY_DIR}/vggcConfigVersion.cmake
              ${CMAKE_CURRENT_LIST_DIR}/vggc.cmake
        DESTINATION ${VGGC_CMAKE_DIR})

# pkg-config: paths relative to the .pc file, so `cmake --install --prefix P` anywhere gives a working file.
set(VGGC_PC_OPENMP_FLAGS ${OpenMP_C_FLAGS})
configure_file(${CMAKE_CURRENT_LIST_DIR}/vggc.pc.in ${PROJECT_BINARY_DIR}/vggc.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/vggc.pc DESTINATION lib/pkgconfig)
