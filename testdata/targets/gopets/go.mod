module github.com/whittle-dev/gopets

go 1.24
