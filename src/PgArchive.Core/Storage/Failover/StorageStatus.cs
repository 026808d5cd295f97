namespace PgArchive.Storage;

/// <summary>
/// What the status cache knows about one store, in WAL-G's terms: an aliveness metric moved by each operation's
/// result as an exponential moving average (EMA), reset by explicit checks, and whether the store counted as alive.
/// </summary>
/// <param name="PotentialAliveness">The EMA of every operation's weight (what the metric would be had all succeeded).</param>
/// <param name="ActualAliveness">The EMA of the weights of the operations that succeeded.</param>
/// <param name="WasAlive">Whether the store counted as alive at the previous update (the two limits make a hysteresis).</param>
/// <param name="Updated">When the status was last updated.</param>
/// <param name="MissedObjects">
/// PgArchive's addition: the store was dead or skipped while objects were stored elsewhere, so it lacks some until it is caught up.
/// </param>
internal sealed record StorageStatus(double PotentialAliveness, double ActualAliveness, bool WasAlive, DateTimeOffset Updated, bool MissedObjects)
{
    public static readonly StorageStatus Unknown = new(0, 0, false, DateTimeOffset.MinValue, false);

    public bool IsAlive(FailoverStoresOptions p) => WasAlive ? Factor(p) >= p.EmaDeadLimit : Factor(p) >= p.EmaAliveLimit;

    // With no data, the store sits at the dead limit: alive when it was alive, dead when it was not (WAL-G's rule).
    private double Factor(FailoverStoresOptions p) => PotentialAliveness == 0 && ActualAliveness == 0 ? p.EmaDeadLimit : ActualAliveness / PotentialAliveness;

    /// <summary>After an explicit check: alive keeps the full metric, dead zeroes the actual part.</summary>
    public StorageStatus AfterCheck(bool alive, DateTimeOffset now) =>
        this with { ActualAliveness = alive ? PotentialAliveness : 0, WasAlive = alive, Updated = now };

    /// <summary>After an operation of <paramref name="weight"/> that succeeded or failed, as WAL-G's EMA.</summary>
    public StorageStatus AfterOperation(FailoverStoresOptions p, bool success, double weight, DateTimeOffset now)
    {
        var alpha = Alpha(p);
        return this with
        {
            PotentialAliveness = Ema(alpha, PotentialAliveness, weight),
            ActualAliveness = Ema(alpha, ActualAliveness, success ? weight : 0),
            WasAlive = IsAlive(p),
            Updated = now,
        };
    }

    // Alpha moves linearly inside the alive or the dead range with how far the metric is from the limit.
    private double Alpha(FailoverStoresOptions p)
    {
        if (IsAlive(p))
        {
            var amplifier = (Factor(p) - p.EmaDeadLimit) / (1 - p.EmaDeadLimit);
            return p.EmaAlphaAliveMax + ((p.EmaAlphaAliveMin - p.EmaAlphaAliveMax) * amplifier);
        }

        var deadAmplifier = Factor(p) / p.EmaAliveLimit;
        return p.EmaAlphaDeadMax + ((p.EmaAlphaDeadMin - p.EmaAlphaDeadMax) * deadAmplifier);
    }

    private static double Ema(double alpha, double previous, double value) => (value * alpha) + (previous * (1 - alpha));
}
