namespace PgArchive.Storage;

/// <summary>One named store of a <see cref="FailoverObjectStore"/>.</summary>
/// <param name="Name">The storage's name: <c>default</c> for the primary (WAL-G's name), the key of <c>WALG_FAILOVER_STORAGES</c> for the others.</param>
/// <param name="Store">The store itself, without a retry layer (the failover store sits under the archive's retry layer).</param>
/// <param name="Identity">
/// Where the store is (its backend, prefix and endpoint), so that the status cache keeps apart two configurations that
/// reuse a name; null uses the name alone. Never a secret.
/// </param>
public sealed record FailoverStore(string Name, IObjectStore Store, string? Identity = null);
