whittle run whittle-fixture/gopets:latest --auto --seed 1 --tag whittle-bench/gopets:cover --spec testdata/targets/gopets/openapi.yaml --duration 60s -o json=bench/results/raw/gopets-cover.json
