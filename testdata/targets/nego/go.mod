module github.com/whittle-dev/nego

go 1.24
