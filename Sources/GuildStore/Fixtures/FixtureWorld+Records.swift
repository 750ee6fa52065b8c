@_spi(Benchmarks) import GuildStoreEngine

/// The entity records of a world: guilds, users, channels, members. Each draws from its own
/// random stream derived from (seed, kind, index) (FX-3), so every row depends only on its own
/// index and the world.
extension FixtureWorld {
    func guildRecord(_ i: Int) -> IngestRecord {
        var rng = SplitMix64.derived(seed, stream: Stream.guildRecords.rawValue, index: UInt64(i))
        let guild = guilds[i]
        let styles = FixtureNames.guildStyles
        let style = styles[i % styles.count]  // FX-28
        let base = style[(i / styles.count) % style.count]
        let name = i < styles.count * style.count ? base : "\(base) \(i)"
        let owner: Value = guild.members.first.map { .uint(users[Int($0)].id) } ?? .null
        return IngestRecord(.guild, [
            "id": .uint(guild.id), "name": .text(name),
            "icon": rng.percent(40) ? .null : .text(FixtureNames.assetHash(&rng)),
            "owner_id": owner, "member_count": .int(Int64(guild.members.count)), "is_active": .bool(guild.isActive),
            "created_at": .timestamp(guild.createdAt),
            "updated_at": .timestamp(profile.now - Int64(rng.int(below: 30 * 86_400))),
        ])
    }

    func userRecord(_ u: Int) -> IngestRecord {
        var rng = SplitMix64.derived(seed, stream: Stream.userRecords.rawValue, index: UInt64(u))
        let user = users[u]
        let stem = rng.pick(FixtureNames.usernameStems)
        // Discord dropped discriminators in 2023: older accounts keep a four-digit one.
        let legacy = user.createdAt < 1_685_577_600 && rng.percent(60)
        let discriminator = legacy ? String(1000 + rng.int(below: 9000)) : "0"
        let globalName: Value = user.bot || rng.percent(20) ? .null : .text(rng.pick(FixtureNames.globalNames))
        return IngestRecord(.user, [
            "id": .uint(user.id), "username": .text(user.bot ? "\(stem)bot\(u)" : "\(stem)_\(u)"),
            "discriminator": .text(discriminator), "global_name": globalName,
            "avatar": rng.percent(25) ? .null : .text(FixtureNames.assetHash(&rng)), "bot": .bool(user.bot),
            "created_at": .timestamp(user.createdAt),
            "updated_at": .timestamp(max(user.createdAt, profile.now - Int64(rng.int(below: 60 * 86_400)))),
        ])
    }

    /// Guild `g`'s channels: its category first (the others' parent), then text, then voice.
    func channelRecords(_ g: Int) -> [IngestRecord] {
        var rng = SplitMix64.derived(seed, stream: Stream.channelRecords.rawValue, index: UInt64(g))
        let guild = guilds[g]
        guard let category = guild.categoryID else { return [] }
        func record(_ id: UInt64, name: String, type: Int64, parent: UInt64?, position: Int) -> IngestRecord {
            let created = Snowflake.seconds(of: id)
            return IngestRecord(.channel, [
                "id": .uint(id), "guild_id": .uint(guild.id), "name": .text(name), "type": .int(type),
                "parent_id": parent.map { .uint($0) } ?? .null, "position": .int(Int64(position)),
                "created_at": .timestamp(created), "updated_at": .timestamp(created + Int64(rng.int(below: 86_400))),
            ])
        }
        var records = [record(category, name: rng.pick(FixtureNames.categories), type: 4, parent: nil, position: 0)]
        for (k, id) in guild.textChannels.enumerated() {
            let names = FixtureNames.textChannels
            records.append(record(id, name: names[(k + g) % names.count], type: 0, parent: category, position: k))
        }
        for (k, id) in guild.voiceChannels.enumerated() {
            let names = FixtureNames.voiceChannels
            records.append(record(id, name: names[(k + g) % names.count], type: 2, parent: rng.percent(80) ? category : nil,
                                  position: k))
        }
        return records
    }

    /// The `k`th member of guild `g`.
    func memberRecord(_ g: Int, _ k: Int) -> IngestRecord {
        let guild = guilds[g]
        var rng = SplitMix64.derived(seed, stream: Stream.memberRecords.rawValue, index: UInt64(g) << 32 | UInt64(k))
        let user = users[Int(guild.members[k])]
        let earliest = max(guild.createdAt, user.createdAt)
        let joined = earliest + Int64(rng.int(below: Int(max(1, profile.now - 86_400 - earliest))))
        // Roles as Discord sends them: role ids as strings; the owner has them all.
        let roleCount = k == 0 ? guild.roleIDs.count - 1 : rng.int(below: min(4, guild.roleIDs.count))
        let roles = guild.roleIDs.dropFirst().prefix(roleCount).map { "\"\($0)\"" }.joined(separator: ",")
        return IngestRecord(.member, [
            "guild_id": .uint(guild.id), "user_id": .uint(user.id),
            "nickname": rng.percent(25) ? .text(rng.pick(FixtureNames.nicknames)) : .null,
            "roles": .json("[\(roles)]"), "joined_at": .timestamp(joined),
            "premium_since": rng.percent(5) ? .timestamp(joined + Int64(rng.int(below: Int(max(1, profile.now - joined))))) : .null,
            "created_at": .timestamp(joined),
            "updated_at": .timestamp(max(joined, profile.now - Int64(rng.int(below: 30 * 86_400)))),
        ])
    }
}
