// The moexp binary: everything happens in cli::moexp_main.
namespace moexp::cli {
int moexp_main(int argc, char** argv);
}

int main(int argc, char** argv) {
  return moexp::cli::moexp_main(argc, argv);
}
