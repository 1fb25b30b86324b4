whittle run whittle-fixture/shelf:latest --auto --seed 1 --tag whittle-bench/shelf:stateful --spec testdata/targets/shelf/openapi.yaml --duration 2m -o json=bench/results/raw/shelf-stateful.json
