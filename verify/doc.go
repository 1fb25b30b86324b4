// Package verify replays a corpus against containers of an image and
// compares the answers: the proof that a minimal image answers as the
// original did (`whittle run`), and the regression check of `whittle
// replay` against the answers stored with a corpus or a previous replay.
//
// It owns the restartable Target the replays (and the pipeline's fuzzing)
// run on: containers come from a StartFunc, so the pipeline's traced starts
// work as plain ones do; a crashed container is replaced, by a spare started
// ahead once the target has crashed once.
//
// Answers are compared by entry and step (Key), never by position, with
// what changes by itself between two replays of the same image ignored
// (LearnVolatility), and with crash timing tolerated: a process that dies
// just after answering is noticed at that request in one replay and at the
// next in another, which is the same behaviour.
//
// Like every library package it prints nothing; errors and warnings go to
// the caller.
package verify
