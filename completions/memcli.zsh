
#compdef memcli

_memcli_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _MEMCLI_COMPLETE=complete_zsh memcli)
}

compdef _memcli_completion memcli

