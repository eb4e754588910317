# Build Hearth for Windows: the one-folder bundle, its self-test, and the installer.
#
#   powershell -File packaging\windows\build.ps1 -Variant cpu     # or -Variant cuda
#
# -Variant cuda rebuilds llama-cpp-python with CUDA (CMAKE_ARGS=-DGGML_CUDA=on; needs
# the CUDA toolkit); cpu rebuilds it CPU-only. The self-test names the build it finds
# (CPU or CUDA), so a CUDA installer that quietly holds a CPU build fails here.
# Output: dist\Hearth\ and dist\Hearth-VERSION-windows-VARIANT-setup.exe (Inno Setup 6,
# iscc on PATH or in its default folder). Signed by sign.ps1 when a certificate is set.
param(
    [ValidateSet("cpu", "cuda")][string]$Variant = "cpu",
    [string]$Python = ".venv\Scripts\python.exe",
    [string]$Model = $(if ($env:HEARTH_TEST_MODEL) { $env:HEARTH_TEST_MODEL } else { "..\shared\models\stories260K.gguf" })
)
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")

function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments -join ' ') failed ($LASTEXITCODE)" }
}

$Version = & $Python -c "import app; print(app.__version__)"
$Llama = & $Python -c "import importlib.metadata as m; print(m.version('llama-cpp-python'))"
$env:CMAKE_ARGS = if ($Variant -eq "cuda") { "-DGGML_CUDA=on" } else { "-DGGML_CUDA=off" }
Invoke-Checked $Python @("-m", "pip", "install", "--force-reinstall", "--no-deps",
    "--no-binary", "llama-cpp-python", "llama-cpp-python==$Llama")

Invoke-Checked $Python @("-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
    "--distpath", "dist", "--workpath", "build\pyinstaller", "packaging\hearth.spec")

# hearth-cli.exe is the console twin of Hearth.exe: its output can be read here.
$Report = & dist\Hearth\hearth-cli.exe --self-test --model $Model
$Report | Write-Output
if ($LASTEXITCODE -ne 0) { throw "the bundle's self-test failed" }
$Expected = if ($Variant -eq "cuda") { "CUDA build" } else { "CPU build" }
if (-not ($Report -match $Expected)) { throw "the bundle is not a $Expected" }

& (Join-Path $PSScriptRoot "sign.ps1") -Path dist\Hearth\Hearth.exe, dist\Hearth\hearth-cli.exe

$Iscc = (Get-Command iscc -ErrorAction SilentlyContinue).Source
if (-not $Iscc) { $Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
Invoke-Checked $Iscc @("/DAppVersion=$Version", "/DVariant=$Variant", "packaging\windows\hearth.iss")
$Setup = "dist\Hearth-$Version-windows-$Variant-setup.exe"
& (Join-Path $PSScriptRoot "sign.ps1") -Path $Setup
Write-Output "installer: $Setup"
