;; A lean handler for load scenarios and benchmarks: waits (simulated downstream call) for the number of
;; microseconds given by the first integer in the event, e.g. {"wait_us": 2000000}, and responds {"ok":true}.
;; Written in WAT so that it costs a few hundred instructions: the simulator's own speed is what is measured.
(module
  (@custom "lambda-sim-abi" "1")
  (import "lambda" "event_read" (func $event_read (param i32 i32) (result i32)))
  (import "lambda" "response_write" (func $response_write (param i32 i32) (result i32)))
  (import "lambda" "wait_us" (func $wait_us (param i64) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"ok\":true}")
  (func (export "handle") (result i32)
    (local $len i32) (local $i i32) (local $c i32) (local $n i64) (local $seen i32)
    (local.set $len (call $event_read (i32.const 64) (i32.const 256)))
    (block $done
      (loop $scan
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $c (i32.sub (i32.load8_u (i32.add (i32.const 64) (local.get $i))) (i32.const 48)))
        (if (i32.lt_u (local.get $c) (i32.const 10))
          (then
            (local.set $seen (i32.const 1))
            (local.set $n (i64.add (i64.mul (local.get $n) (i64.const 10)) (i64.extend_i32_u (local.get $c)))))
          (else (br_if $done (local.get $seen))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    (drop (call $wait_us (local.get $n)))
    (drop (call $response_write (i32.const 0) (i32.const 11)))
    (i32.const 0)))
