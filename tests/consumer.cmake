# test_consumer installs this build tree, builds examples/classify against it and runs it: it needs the tools.
if(DEFINED ENV{PYTHON})
  set(VGGC_CONSUMER_PYTHON $ENV{PYTHON})
else()
  set(VGGC_CONSUMER_PYTHON /usr/bin/python3)
endif()
target_compile_definitions(test_consumer PRIVATE
  VGGC_CMAKE="${CMAKE_COMMAND}"
  VGGC_PKG_CONFIG="${PKG_CONFIG_EXECUTABLE}"
  VGGC_CC="${CMAKE_C_COMPILER}"
  VGGC_PYTHON="${VGGC_CONSUMER_PYTHON}")
set_tests_properties(test_consumer PROPERTIES TIMEOUT 300)
