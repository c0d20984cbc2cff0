# The Cortex-M builds under QEMU (tests/firmware.py): a small VGG with BatchNorm on cortex-m4, -m7 and -m33 and
# LeNet-5 on cortex-m4 against PyTorch, the Fashion-MNIST classifier's top-1 on 200 test images on cortex-m7, its
# instructions per inference against plain loop nests, the memory the report declares, and a model too large for
# its part. Needs arm-none-eabi-gcc, newlib and qemu-system-arm (tools/install-deps), and PyTorch.
add_test(NAME firmware
         COMMAND ${VGGC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/firmware.py --vggc $<TARGET_FILE:vggc>
                 --work ${CMAKE_CURRENT_BINARY_DIR}/firmware)
set_tests_properties(firmware PROPERTIES TIMEOUT 900)
