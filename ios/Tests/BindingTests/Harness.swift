// A minimal async test runner for the binding tests (plain swiftc, no XCTest): one line per
// test and a final "N passed, M failed" line.
import Foundation

struct AssertionFailed: Error, CustomStringConvertible {
    let description: String
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw AssertionFailed(description: message()) }
}

func checkEqual<T: Equatable>(_ expected: T, _ actual: T, _ what: String) throws {
    if expected != actual { throw AssertionFailed(description: "\(what): expected <\(expected)>, got <\(actual)>") }
}

/// Runs `body` and returns the error it throws; fails when it throws nothing.
func expectError(_ what: String, _ body: () async throws -> Void) async throws -> Error {
    do {
        try await body()
    } catch {
        return error
    }
    throw AssertionFailed(description: "\(what): expected an error, nothing was thrown")
}

final class TestRunner {
    private(set) var passed = 0
    private(set) var failed = 0

    func test(_ name: String, _ body: () async throws -> Void) async {
        let started = Date()
        do {
            try await body()
            passed += 1
            print("ok   \(name) (\(Int(Date().timeIntervalSince(started) * 1000)) ms)")
        } catch {
            failed += 1
            print("FAIL \(name): \(error)")
        }
    }

    /// Prints the summary line; returns the process exit code.
    func finish() -> Int32 {
        print("\(passed) passed, \(failed) failed")
        return failed == 0 && passed > 0 ? 0 : 1
    }
}
