# Sign files with Authenticode, only when a certificate is given; otherwise say so.
#   packaging\windows\sign.ps1 -Path a.exe, b.exe
# Needs WINDOWS_CERT_PFX (path to a .pfx) or WINDOWS_CERT_PFX_BASE64 (its contents,
# as the release workflow's secret holds it), and WINDOWS_CERT_PASSWORD; signtool from
# the Windows SDK on PATH. WINDOWS_TIMESTAMP_URL defaults to DigiCert's.
param([Parameter(Mandatory)][string[]]$Path)
$ErrorActionPreference = "Stop"
if (-not $env:WINDOWS_CERT_PFX -and $env:WINDOWS_CERT_PFX_BASE64) {
    $env:WINDOWS_CERT_PFX = Join-Path ([IO.Path]::GetTempPath()) "hearth-signing.pfx"
    [IO.File]::WriteAllBytes($env:WINDOWS_CERT_PFX, [Convert]::FromBase64String($env:WINDOWS_CERT_PFX_BASE64))
}
if (-not $env:WINDOWS_CERT_PFX -or -not $env:WINDOWS_CERT_PASSWORD) {
    Write-Output "signing skipped: WINDOWS_CERT_PFX / WINDOWS_CERT_PASSWORD not set ($($Path -join ', ') unsigned)"
    exit 0
}
$Timestamp = if ($env:WINDOWS_TIMESTAMP_URL) { $env:WINDOWS_TIMESTAMP_URL } else { "http://timestamp.digicert.com" }
& signtool sign /fd SHA256 /td SHA256 /tr $Timestamp /f $env:WINDOWS_CERT_PFX /p $env:WINDOWS_CERT_PASSWORD @Path
if ($LASTEXITCODE -ne 0) { throw "signtool failed ($LASTEXITCODE)" }
Write-Output "signed: $($Path -join ', ')"
