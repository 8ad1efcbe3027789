// ams-ha-controller: entry point. Wiring only: parse the command line, hand
// over to the command's implementation in cli/.
#include "cli/cli.h"

int main(int argc, char** argv) { return amsha::RunCli(argc, argv); }
