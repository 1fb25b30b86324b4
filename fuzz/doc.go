// Package fuzz exercises a service from its OpenAPI spec: each operation
// once (EachOperationOnce), then a coverage-guided, stateful loop (Fuzzer)
// whose oracles turn bad answers into findings. Given a TargetHealth it
// notices the target dying, restarts it and shrinks the sequence that killed
// it; given a corpus.Store it persists its corpus as it grows and resumes
// from it. Replay runs stored entries again, against any target, with ids
// re-bound from the answers of the run at hand.
//
// # The loop
//
// The parts carry the names LibAFL gives them: a corpus (pool.go) and a
// scheduler that picks from it, an executor that runs a step on the target,
// observers that record what a run did, feedbacks (novelty, coverage) that
// decide admission to the corpus, objectives (the oracles) that decide what
// is a finding, stages applied around the loop, and a monitor.
//
//	Fuzzer.Run                                                     fuzzer.go
//	  stages, once: seeds (the stored corpus) → plan (each operation once,
//	  producers first; plan.go) → negotiation sweep (negotiate.go)
//	  loop:
//	    upkeep     delete what the run made; restart a slowing target   cleanup.go
//	    stop?      budget, plateau, Stop, target lost                   fuzzer.go
//	    schedule   a proposed try, else a mutated corpus entry          schedule.go
//	               picked by energy, else a fresh input
//	    run the sequence, step by step (loop.runSequence)               loop.go
//	      generate bind ids from the value store, encode               executor.go
//	      send     through the Sender; no answer: ask TargetHealth     target.go
//	      observe  every observer, in order, on the step's record      observe.go
//	      act      queue the tries the observers proposed;
//	               findings from violations, new ones minimised        findings.go, minimize.go
//	               a crash: record it, restart, minimise it            crash.go
//	    admit      the sequence joins the corpus if a step was new      admit.go
//
// With several workers (WithWorkers, WithAdaptiveWorkers; workers.go) the
// loop schedules a batch, one sequence per worker, runs them at once, and
// settles what needs the target alone (a crash, new findings to minimise,
// calibration of candidates) between batches; fuzz/pace sets the count,
// back to one as soon as new coverage comes while several are in flight.
// Before the seeds, connections.go checks whether kept-alive connections
// answer late and switches to one connection per request if so.
//
// # Observers
//
// In this order (newObservers in observe.go), each reading the step's
// record and changing only what is listed:
//
//	observer     reads                                 may change
//	bindings     2xx answers                           value store (ids for Bound parameters), producers
//	dictionary   2xx JSON answers                      the generator's dictionary
//	coverage     the tracer (Feedback.After)           record.sig
//	novelty      status, response shape, sig           its table; record.new
//	selection    values sent; sig's files and dirs     correlator, name book, dictionary; record.tries
//	monitor      sig, new                              statistics; coverage events
//	objectives   request and answer (fuzz/oracle)      record.violations
//	crawling     GETs' HTML, CSS, script, manifest     its crawler (fuzz/crawl), its browser
//	             answers; sig's files of linked GETs   (served recorded answers only); record.tries
//	exchanges    the whole exchange (WithExchangeHook)  nothing
//	upkeep       latency; resources created, deleted   upkeep.Keeper
//
// No observer sends a request, restarts the target, resets the value store
// or records a finding. The loop does, once every observer has seen the
// step (act), and so do its stages: minimisation, cleanup, latency
// restarts. A new observer is a type with an observe method (observe.go, or
// a file of its own), placed in newObservers after the observers that fill
// what it reads, with a field of record for what it finds; its logic goes in
// a leaf package.
//
// # Packages
//
//	fuzz           the loop, scheduling, stages, crash handling, replay, persistence
//	fuzz/spec      specs: loading, containment, discovery
//	fuzz/gen       inputs: generation, mutation, encoding, negotiation headers
//	fuzz/links     producer → consumer links, and the values answers gave for them
//	fuzz/oracle    checks, finding signatures, curl reproducers
//	fuzz/inputsel  input-selected files: correlation, the name book, negotiated variants
//	fuzz/upkeep    what the run created, and the target's latency
//	fuzz/param     the values of a request by key, free or enumerated
//	fuzz/crawl     paths a page links on its origin, the bounded crawl;
//	               fuzz/crawl/browser runs pages' scripts on recorded answers
//	fuzz/pace      how many workers: additive increase, multiplicative decrease
//
// The leaves never import this package (internal/depcheck keeps it so).
package fuzz

// Where the coming work goes (developers' notes, not the package
// documentation):
//
//   - Concurrent workers (workers.go): coverage is credited only in solo
//     windows, since the tracer reports first hits only (a pruned probe
//     cannot be seen again on a re-run); new files of a shared window are
//     shown to every request of it (inputsel attributes by name), and new
//     coverage in one sends the count back to one (fuzz/pace). Tracer
//     events carrying the thread and time would let a runtime that serves
//     a request per thread credit coverage in shared windows too: the
//     record's flight number and the batch's window are where that would
//     plug in.
//   - Budgets (internal/limits, recorded through WithLimits): findings
//     per operation and check are counted before minimising (judge,
//     findings.go); the crash history keeps no answers (history.go); the
//     on-disk corpus keeps an index in memory (corpus.Store.Index) and a
//     run adds a bounded number of entries and bytes to it (persist.go);
//     the in-memory pool keeps maxPool entries (pool.go); validation depth
//     and work are counted in fuzz/oracle (budget.go); spec and generation
//     budgets in fuzz/spec and fuzz/gen, and an operation over the latter
//     is skipped (controls.go).
//   - Names from interpreter libraries: the name book, fuzz/inputsel.
//   - Newly covered units credited to the operation that first reached
//     them: the coverage observer (the units in Signal) and the monitor.
