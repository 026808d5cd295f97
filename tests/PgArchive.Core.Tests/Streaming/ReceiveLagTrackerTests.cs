using Microsoft.Extensions.Time.Testing;
using PgArchive.PostgresTypes;

namespace PgArchive.Streaming;

public sealed class ReceiveLagTrackerTests
{
    [Fact]
    public void Lag_is_the_age_of_the_oldest_wal_not_stored_and_zero_once_stored()
    {
        var time = new FakeTimeProvider();
        var lag = new ReceiveLagTracker(time);

        lag.ServerAt(new Lsn(1000));
        time.Advance(TimeSpan.FromSeconds(2));
        lag.ServerAt(new Lsn(2000));
        time.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal(TimeSpan.FromSeconds(5), lag.Lag);
        lag.StoredUpTo(new Lsn(1000));
        Assert.Equal(TimeSpan.FromSeconds(3), lag.Lag);
        lag.StoredUpTo(new Lsn(2000));
        Assert.Equal(TimeSpan.Zero, lag.Lag);
        Assert.Equal(new Lsn(2000), lag.StoredLsn);
    }

    [Fact]
    public void Positions_already_stored_add_no_lag()
    {
        var time = new FakeTimeProvider();
        var lag = new ReceiveLagTracker(time);
        lag.StoredUpTo(new Lsn(5000));

        lag.ServerAt(new Lsn(4000));
        lag.ServerAt(new Lsn(5000));
        time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(TimeSpan.Zero, lag.Lag);
    }
}
