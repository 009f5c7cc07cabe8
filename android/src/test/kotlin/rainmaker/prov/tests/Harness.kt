// A minimal test runner for the binding tests (no JUnit: nothing beyond the Kotlin stdlib,
// kotlinx-coroutines and JNA is available where these run). Each test is a suspend block; the
// runner prints one line per test and a final "N passed, M failed" line.
package rainmaker.prov.tests

import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout

class AssertionFailed(message: String) : Exception(message)

fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionFailed(message())
}

fun <T> checkEquals(expected: T, actual: T, what: String) {
    if (expected != actual) throw AssertionFailed("$what: expected <$expected>, got <$actual>")
}

/** Runs [block] and returns the exception of type [E] it throws; fails if it throws nothing else. */
suspend inline fun <reified E : Throwable> expectThrows(what: String, block: suspend () -> Unit): E {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) return e
        throw AssertionFailed("$what: expected ${E::class.simpleName}, got $e")
    }
    throw AssertionFailed("$what: expected ${E::class.simpleName}, nothing was thrown")
}

/**
 * Objects kept reachable until the running test ends. The JVM may collect a generated object
 * (and uniffi's cleaner then frees the Rust object: a fake cloud or a simulated device's HTTP
 * server stops) as soon as the test stops referencing it, even though the test still talks to the
 * server through its address.
 */
private val pinned: MutableList<Any> = java.util.Collections.synchronizedList(mutableListOf())

/** Keeps [value] alive until the end of the current test; returns it. */
fun <T : Any> pin(value: T): T {
    pinned.add(value)
    return value
}

class TestRunner {
    private var passed = 0
    private var failed = 0

    fun test(name: String, timeoutMs: Long = 60_000, block: suspend () -> Unit) {
        val started = System.nanoTime()
        try {
            try {
                runBlocking { withTimeout(timeoutMs) { block() } }
            } finally {
                pinned.clear()
            }
            passed++
            println("ok   $name (${(System.nanoTime() - started) / 1_000_000} ms)")
        } catch (e: Throwable) {
            failed++
            println("FAIL $name: $e")
        }
    }

    /** Prints the summary line and returns the process exit code. */
    fun finish(): Int {
        println("$passed passed, $failed failed")
        return if (failed == 0 && passed > 0) 0 else 1
    }
}
