namespace PgArchive.Storage;

/// <summary>Which object store operations a <see cref="FaultInjectingObjectStore"/> may disturb.</summary>
[Flags]
public enum FaultOperations
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary><see cref="IObjectStore.PutAsync"/>.</summary>
    Put = 1,

    /// <summary><see cref="IObjectStore.OpenReadAsync"/> and reads of the stream it returns.</summary>
    Read = 2,

    /// <summary><see cref="IObjectStore.GetInfoAsync"/>.</summary>
    Info = 4,

    /// <summary><see cref="IObjectStore.ListAsync"/>.</summary>
    List = 8,

    /// <summary><see cref="IObjectStore.DeleteAsync"/>.</summary>
    Delete = 16,

    /// <summary>Every operation.</summary>
    All = Put | Read | Info | List | Delete,
}

/// <summary>What a <see cref="FaultInjectingObjectStore"/> does wrong, and how often.</summary>
public sealed class FaultInjectionOptions
{
    /// <summary>The fraction (0 to 1) of calls that fail transiently. Default 0.1.</summary>
    public double FailureRate { get; set; } = 0.1;

    /// <summary>Seed of the random generator that picks the calls and the faults: the same seed gives the same sequence for the same calls.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>The operations that may be disturbed. Default all.</summary>
    public FaultOperations Operations { get; set; } = FaultOperations.All;

    /// <summary>Only keys this accepts are disturbed; null disturbs every key.</summary>
    public Func<string, bool>? KeyFilter { get; set; }

    /// <summary>
    /// Every selected call fails with <see cref="PermanentErrorKind"/>, whatever <see cref="FailureRate"/> says:
    /// the store is down for good (or refuses), retries cannot help.
    /// </summary>
    public bool Permanent { get; set; }

    /// <summary>
    /// In <see cref="Permanent"/> mode, how many selected calls succeed before every following one fails: a store
    /// that goes away part-way through a backup. Default 0 (from the first call).
    /// </summary>
    public int PermanentAfter { get; set; }

    /// <summary>The error of a permanent fault. Default <see cref="ObjectStoreErrorKind.Other"/> (not transient).</summary>
    public ObjectStoreErrorKind PermanentErrorKind { get; set; } = ObjectStoreErrorKind.Other;

    /// <summary>Most latency added to a call that draws a latency fault. Default 20 ms.</summary>
    public TimeSpan MaxLatency { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Read calls on returned streams deliver at most a random part of what was asked (legal for a stream; exposes callers that assume full reads). Default true.</summary>
    public bool ShortReads { get; set; } = true;

    /// <summary>
    /// Parses the diagnostic form <c>RATE[:SEED[:OPS]]</c> (e.g. <c>0.1:42</c> or <c>0.1:42:put,read</c>) or
    /// <c>permanent[:OPS[:AFTER]]</c> (e.g. <c>permanent:put:6</c>: the first 6 puts succeed, every later one fails), as used by the CLI's <c>PGARCHIVE_FAULT_INJECTION</c> (for testing only).
    /// </summary>
    public static FaultInjectionOptions Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(':');
        var options = new FaultInjectionOptions();
        var opsIndex = 2;
        if (string.Equals(parts[0], "permanent", StringComparison.OrdinalIgnoreCase))
        {
            options.Permanent = true;
            opsIndex = 1;
        }
        else if (!double.TryParse(parts[0], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var rate)
                 || rate is < 0 or > 1 || parts.Length > 3
                 || (parts.Length > 1 && !int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out _)))
        {
            throw new PgArchiveConfigurationException(
                $"PGARCHIVE_FAULT_INJECTION '{text}' must be RATE[:SEED[:OPS]] (RATE between 0 and 1, e.g. 0.1:42 or 0.1:42:put,read) or permanent[:OPS[:AFTER]].");
        }
        else
        {
            options.FailureRate = rate;
            if (parts.Length > 1)
            {
                options.Seed = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        if (options.Permanent && parts.Length == 3)
        {
            options.PermanentAfter = int.TryParse(parts[2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var after)
                ? after
                : throw new PgArchiveConfigurationException($"PGARCHIVE_FAULT_INJECTION '{text}': AFTER must be a number of calls (0 or more).");
        }
        else if (options.Permanent && parts.Length > 3)
        {
            throw new PgArchiveConfigurationException($"PGARCHIVE_FAULT_INJECTION '{text}' has too many parts.");
        }

        if (parts.Length > opsIndex)
        {
            options.Operations = FaultOperations.None;
            foreach (var op in parts[opsIndex].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                options.Operations |= Enum.TryParse<FaultOperations>(op, ignoreCase: true, out var parsed)
                    ? parsed
                    : throw new PgArchiveConfigurationException(
                        $"PGARCHIVE_FAULT_INJECTION operation '{op}' must be one of put, read, info, list, delete, all.");
            }
        }
        else if (parts.Length > opsIndex + 1)
        {
            throw new PgArchiveConfigurationException($"PGARCHIVE_FAULT_INJECTION '{text}' has too many parts.");
        }

        return options;
    }
}
