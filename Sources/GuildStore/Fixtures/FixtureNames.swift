@_spi(Benchmarks) import GuildStoreEngine

/// The words generated names are made of: ASCII, emoji (with ZWJ sequences, flags and
/// variation selectors), CJK, right-to-left scripts and combining marks, so every text path
/// (encoding, index order by UTF-8 bytes, JSON escaping, terminal output) meets them.
///
/// Invariant (FX-28): `guildStyles[i]` for i in 0..<5 is ASCII, emoji, CJK, RTL and combining
/// marks in that order, and guild i takes style i % 5, so any profile with 5 non-empty
/// guilds has every kind of name. Changing a list changes `Fixtures/small.jsonl`:
/// regenerate it (see Fixtures/README.md).
enum FixtureNames {
    static let guildStyles: [[String]] = [
        ["Mocha", "Late Night Gaming", "Rustaceans", "Study Hall", "Lo-Fi Lounge", "Speedrun Central", "Book Club"],
        ["☕ Coffee Club", "🎮 Game Night", "🐉 Dragon Raiders", "🌸 Sakura", "🚀 Launchpad", "👨‍👩‍👧 Family", "🏳️‍🌈 Pride"],
        ["原神 攻略組", "日本語 勉強会", "한국 게이머", "中文 聊天室", "アニメ同好会", "麻雀 部"],
        ["مقهى المطورين", "שלום עולם", "گیمرهای ایران", "نادي القراءة", "קהילת המפתחים"],
        ["Cafe\u{301} Cre\u{300}me", "Z\u{351}a\u{36B}l\u{33E}g\u{363}o\u{35B}", "N\u{303}andu\u{301}", "Ame\u{301}lie\u{2019}s Atelier",
         "Ha\u{30A}kon's Hall"],
    ]

    static let usernameStems = ["alex", "mochi", "river", "kai", "nova", "sam", "yuki", "omar", "lena", "ivan", "zoe", "noor",
                                "pixel", "echo", "ghost", "luna"]

    static let globalNames = ["Alex ✨", "もち", "River", "카이", "Nova 🌙", "Sam", "ゆき", "عمر", "Léna", "Ива́н", "Zoë",
                              "נור", "Pixel 👾", "Echo", "Ghost 👻", "Luna 🌕", "Jose\u{301}", "Björk"]

    static let nicknames = ["the boss 👑", "小明", "Dr. Who", "أحمد", "דני", "Mo\u{308}tley", "🍕", "sleepy", "Ｆｕｌｌｗｉｄｔｈ",
                            "ẞtraße", "niño", "𝓯𝓪𝓷𝓬𝔂"]

    static let textChannels = ["general", "général", "雑談", "memes-😂", "announcements", "عام", "off-topic", "dev-log",
                               "help", "screenshots", "ใช้ภาษาไทย", "bot-commands"]

    static let voiceChannels = ["Lounge 🔊", "Gaming", "ボイス", "קול", "AFK", "Music 🎵", "Study Room"]

    static let categories = ["TEXT CHANNELS", "VOICE", "📚 Study", "情報"]

    static let activityNames = ["Minecraft", "原神", "League of Legends", "Spotify", "Visual Studio Code", "Elden Ring",
                                "🎵 lo-fi beats", "Custom Status", "Counter-Strike 2", "ポケモン"]

    static let reminderTitles = ["Raid night 🐉", "Weekly sync", "週次ミーティング", "تذكير أسبوعي", "Movie night 🍿", "Standup",
                                 "Re\u{301}union", "Game jam"]

    static let reminderDescriptions = ["React to confirm you're coming", "Please react ✅ or ❌", "リアクションしてください",
                                       "Line one\nLine two", "Bring snacks \"as usual\""]

    static let emoji = ["✅", "❌", "👍", "🎉", "❤️", "🇫🇷", "👨‍💻"]

    static let errorMessages = ["Missing Access (50001)", "Cannot send messages to this user (50007)", "Unknown Channel (10003)",
                                "You are being rate limited."]

    /// Hex digits of a fake asset hash (icons, avatars): 32 characters, `a_` for animated.
    static func assetHash(_ rng: inout SplitMix64) -> String {
        let hex = String(rng.next(), radix: 16) + String(rng.next(), radix: 16)
        let padded = String(repeating: "0", count: max(0, 32 - hex.count)) + hex
        return (rng.percent(10) ? "a_" : "") + String(padded.prefix(32))
    }
}
