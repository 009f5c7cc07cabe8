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

class TestRunner {
    private var passed = 0
    private var failed = 0

    fun test(name: String, timeoutMs: Long = 60_000, block: suspend () -> Unit) {
        val started = System.nanoTime()
        try {
            runBlocking { withTimeout(timeoutMs) { block() } }
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
