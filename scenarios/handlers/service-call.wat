;; A lean ABI v2 handler for benchmarks: calls the simulated service "db" once (`lambda.service_call`) and responds
;; {"ok":true}, or fails with errorType "ServiceError" when the call did not succeed. Written in WAT so that it costs
;; a few hundred instructions: the simulator's own speed is what is measured.
(module
  (@custom "lambda-sim-abi" "2")
  (import "lambda" "service_call" (func $service_call (param i32 i32) (result i32)))
  (import "lambda" "response_write" (func $response_write (param i32 i32) (result i32)))
  (import "lambda" "error" (func $error (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"ok\":true}")
  (data (i32.const 16) "db")
  (data (i32.const 32) "ServiceError")
  (func (export "handle") (result i32)
    (if (i32.ne (call $service_call (i32.const 16) (i32.const 2)) (i32.const 0))
      (then
        (call $error (i32.const 32) (i32.const 12) (i32.const 32) (i32.const 12))
        (return (i32.const 0))))
    (drop (call $response_write (i32.const 0) (i32.const 11)))
    (i32.const 0)))
