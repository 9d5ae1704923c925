package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// The shells kad completion writes a script for.
var completionShells = []string{"bash", "zsh", "fish"}

// completionCommand is kad completion SHELL. The bash and zsh scripts ask kad itself
// what fits, through cli's --generate-bash-completion (App.EnableBashCompletion), so
// they follow the commands and flags of the binary they call; fish gets cli's static
// script, with the flags' descriptions.
func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a script that completes kad's commands and flags in a shell",
		UsageText: "kad completion bash|zsh|fish",
		Description: "Load it in the running shell, or from the shell's start-up file:\n" +
			"  bash:  source <(kad completion bash)\n" +
			"  zsh:   source <(kad completion zsh)    (after compinit)\n" +
			"  fish:  kad completion fish | source",
		OnUsageError: onUsageError,
		BashComplete: func(c *cli.Context) {
			for _, sh := range completionShells {
				fmt.Fprintln(c.App.Writer, sh)
			}
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("completion takes one shell: %s", strings.Join(completionShells, ", "))
			}
			return writeCompletion(c.App, c.Args().First(), c.App.Writer)
		},
	}
}

// writeCompletion writes the completion script for shell.
func writeCompletion(app *cli.App, shell string, w io.Writer) error {
	var script string
	switch shell {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		s, err := app.ToFishCompletion()
		if err != nil {
			return err
		}
		// The backquotes that mark a flag's placeholder in the help ("`ADDR`") would
		// show in the descriptions.
		script = strings.ReplaceAll(s, "`", "")
	default:
		return usageErrorf("completion %q: want %s", shell, strings.Join(completionShells, ", "))
	}
	_, err := io.WriteString(w, script)
	return err
}

// bashCompletion asks the kad being completed for the words that fit: the command line
// up to the word under the cursor, that word too when it starts a flag, then
// --generate-bash-completion. When kad has nothing to offer (a flag's value), bash
// completes file names.
const bashCompletion = `# bash completion for kad: source <(kad completion bash)
_kad_complete() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local args=("${COMP_WORDS[@]:1:COMP_CWORD-1}")
    if [[ $cur == -* ]]; then
        args+=("$cur")
    fi
    local IFS=$'\n'
    COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" "${args[@]}" --generate-bash-completion 2>/dev/null)" -- "$cur"))
}
complete -o default -F _kad_complete kad
`

// zshCompletion does what bashCompletion does, in zsh's completion system.
const zshCompletion = `#compdef kad
# zsh completion for kad: source <(kad completion zsh), after compinit
_kad() {
    local cur=${words[CURRENT]}
    local -a args opts
    args=("${(@)words[2,CURRENT-1]}")
    if [[ $cur == -* ]]; then
        args+=("$cur")
    fi
    opts=("${(@f)$(${words[1]} "${args[@]}" --generate-bash-completion 2>/dev/null)}")
    opts=(${opts:#})
    if (( ${#opts} )); then
        compadd -a opts
    else
        _files
    fi
}
compdef _kad kad
`
