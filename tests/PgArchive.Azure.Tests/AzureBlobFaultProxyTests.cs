using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

/// <summary>
/// The cut-download contract for the Azure store (the real SDK) against Azurite through <see cref="FaultProxy"/>: the
/// SDK's RetriableStream resumes a cut download with a ranged GET from the byte reached, If-Match on the ETag.
/// </summary>
public sealed class AzureBlobFaultProxyTests(AzuriteFixture azurite) : CutDownloadConformanceTests
{
    protected override CutCount CutsWhenCutEveryTime => CutCount.AtLeast(2);

    /// <summary>
    /// The SDK's If-Match makes the resume of a replaced blob fail rather than stitch, but the store reports it as the
    /// SDK's 412 ("Azure refused the request ... (HTTP 412 ConditionNotMet)"), not in words that say the blob was replaced.
    /// </summary>
    protected override string ReplacedMessage => "ConditionNotMet";

    protected override FaultProxy StartProxy() => FaultProxy.Start(azurite.BlobEndpoint);

    protected override IObjectStore CreateStore(FaultProxy proxy)
    {
        var options = azurite.Options(Prefix);
        options.ConnectionString = null;
        options.AccountName = azurite.AccountName;
        options.AccountKey = azurite.AccountKey;
        options.ServiceUri = new Uri(proxy.Endpoint, azurite.BlobEndpoint.AbsolutePath);
        return new AzureBlobObjectStore(AzureBlobObjectStore.CreateContainerClient(options), options);
    }
}
