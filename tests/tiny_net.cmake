# test_tiny_net links a small net that vggc generates at build time: every layer kind, odd maps, batch 2.
set(TINY_DIR ${CMAKE_CURRENT_BINARY_DIR}/gen)
file(MAKE_DIRECTORY ${TINY_DIR})
add_custom_command(
  OUTPUT ${TINY_DIR}/tiny.c ${TINY_DIR}/tiny.h
  COMMAND vggc generate "4,L,M,6,5:1,M" --batch-norm --input 2x9x7 --avgpool 3x2 --classifier 10 --classes 5
          --batch 2 --name tiny -o ${TINY_DIR}
  DEPENDS vggc
  VERBATIM)
target_sources(test_tiny_net PRIVATE ${TINY_DIR}/tiny.c)
target_include_directories(test_tiny_net PRIVATE ${TINY_DIR})
