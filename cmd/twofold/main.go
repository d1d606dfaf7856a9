// Command twofold runs the Twofold sign-in server and its admin commands.
// See `twofold help`.
package main

import (
	"os"

	"github.com/twofold-id/twofold/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.OSEnv()))
}
