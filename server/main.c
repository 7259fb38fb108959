/* Placeholder until the protocol layer lands (issue 2). */
int main(void)
{
    return 0;
}
