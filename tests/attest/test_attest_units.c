#include "config.h"
#include "t.h"
T_GLOBALS;
int main(void){ T_CHECK(1); T_DONE(); }
