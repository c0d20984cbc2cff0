# test_consumer installs this build tree, builds examples/classify against it and runs it: it needs the tools.
target_compile_definitions(test_consumer PRIVATE
  VGGC_CMAKE="${CMAKE_COMMAND}"
  VGGC_PKG_CONFIG="${PKG_CONFIG_EXECUTABLE}"
  VGGC_CC="${CMAKE_C_COMPILER}"
  VGGC_PYTHON="${VGGC_PYTHON}")
set_tests_properties(test_consumer PROPERTIES TIMEOUT 300)
