module local/testenv-pause

go 1.26.0
