import Foundation
import GuildStoreEngine

/// This process as `GuildStoreError.locked` names it when one of its own descriptors holds
/// the lock (a second open in the same process).
package func thisProcessAsLockHolder() -> LockHolder {
    let comm = try? String(contentsOfFile: "/proc/self/comm", encoding: .utf8)
    return LockHolder(pid: getpid(), command: comm?.trimmingCharacters(in: .whitespacesAndNewlines))
}
