/* microtvm-qemu: the whole program is cli_main (cli.c), so tests can run it in-process. */
#include "cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
