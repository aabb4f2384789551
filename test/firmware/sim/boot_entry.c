/* Linked into the boot section: marks that execution started there. */
#include "sim-test.h"

int main(void) {
  result[0] = 0xB0;
  result[1] = MCUSR;
  done();
}
