"""The command line: Invoke tasks (`inv ...`) and the `octopus` program, thin over the stages."""
